#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cstdint>
#include <sys/mman.h>
extern "C" void sgemm_(const char*,const char*,const int*,const int*,const int*,const float*,const float*,const int*,const float*,const int*,const float*,float*,const int*);
extern "C" int mla_linear_f32(int,int,int,const float*,int64_t,const float*,const float*,float*,int64_t);
extern "C" int mla_set_cpu_isa(const char*); extern "C" int mla_set_num_threads(int);
static double now(){timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int N=atoi(argv[1]),K=atoi(argv[2]),M=atoi(argv[3]); if(argc>4) mla_set_cpu_isa(argv[4]); if(argc>5) mla_set_num_threads(atoi(argv[5]));
  int L=24; float** W=(float**)malloc(L*sizeof(float*));
  for(int l=0;l<L;l++){size_t bytes=(size_t)N*K*4; W[l]=(float*)mmap(nullptr,bytes,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); madvise(W[l],bytes,getenv("HUGE")?MADV_HUGEPAGE:MADV_NOHUGEPAGE);for(size_t i=0;i<(size_t)N*K;i++)W[l][i]=(float)((i*7+l)%13)*0.01f-0.06f;}
  float *x=(float*)aligned_alloc(64,(size_t)M*K*4),*o=(float*)aligned_alloc(64,(size_t)M*N*4);
  for(size_t i=0;i<(size_t)M*K;i++)x[i]=(float)(i%17)*0.1f-0.8f;
  float one=1,zero=0; double bb=1e9,bm=1e9;
  for(int r=0;r<7;r++){double t0=now();for(int l=0;l<L;l++)sgemm_("T","N",&N,&M,&K,&one,W[l],&K,x,&K,&zero,o,&N);double t=(now()-t0)/L;if(t<bb)bb=t;
    t0=now();for(int l=0;l<L;l++)mla_linear_f32(M,N,K,x,K,W[l],nullptr,o,N);t=(now()-t0)/L;if(t<bm)bm=t;}
  printf("N=%d K=%d M=%d  blas %.3f ms (%.1f)  ours %.3f ms (%.1f)  blas/ours %.2f\n",N,K,M,bb*1e3,2.0*M*N*K/bb*1e-9,bm*1e3,2.0*M*N*K/bm*1e-9,bb/bm);
}
